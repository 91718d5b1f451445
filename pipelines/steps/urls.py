"""(placeholder: steps registered here)"""
